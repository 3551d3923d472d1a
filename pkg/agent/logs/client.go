package logs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Options say what output to fetch.
type Options struct {
	// Stream is stdout (default) or stderr.
	Stream Stream
	// Follow keeps streaming until the task is terminal.
	Follow bool
}

// Fetch copies the output of the task namespace/name, bound to node, from the
// agent of node to w. It authenticates with cfg's credentials (client
// certificate or token) and verifies the agent with the CA the node publishes.
func Fetch(ctx context.Context, cfg *rest.Config, node *v1alpha1.Node, namespace, name string, opts Options, w io.Writer) error {
	if node.Status.Address == "" || node.Status.DaemonPort == 0 || node.Status.DaemonCABundle == "" {
		return fmt.Errorf("node %s publishes no agent endpoint (status.address, status.daemonPort, status.daemonCABundle): is its agent running?", node.Name)
	}
	agentCfg := rest.CopyConfig(cfg)
	agentCfg.Host = "https://" + net.JoinHostPort(node.Status.Address, strconv.Itoa(int(node.Status.DaemonPort)))
	agentCfg.APIPath = ""
	agentCfg.TLSClientConfig.CAFile = ""
	agentCfg.TLSClientConfig.CAData = []byte(node.Status.DaemonCABundle)
	agentCfg.TLSClientConfig.Insecure = false
	agentCfg.TLSClientConfig.ServerName = ""
	agentCfg.Timeout = 0
	transport, err := rest.TransportFor(agentCfg)
	if err != nil {
		return err
	}
	if opts.Stream == "" {
		opts.Stream = Stdout
	}
	u := fmt.Sprintf("%s/tasks/%s/%s/log?%s", agentCfg.Host, url.PathEscape(namespace), url.PathEscape(name),
		url.Values{"stream": {string(opts.Stream)}, "follow": {strconv.FormatBool(opts.Follow)}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return fmt.Errorf("failed to reach the agent of node %s: %w", node.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("the agent of node %s answered %s: %s", node.Name, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = io.Copy(w, resp.Body)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
