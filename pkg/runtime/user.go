package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// ResolveUser turns an image's or task's user ("", "uid", "uid:gid", "name",
// "name:group", "uid:group", "name:gid") into IDs, reading /etc/passwd and
// /etc/group of the root file system (never through a symlink that leaves it). A
// named user also gets the groups /etc/group lists it in. "" is root.
func ResolveUser(rootfs, spec string) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" && !hasGroup {
		userPart = "0"
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return User{}, err
	}
	defer root.Close()
	passwd := readDB(root, "etc/passwd")
	groups := readDB(root, "etc/group")

	var u User
	name := ""
	if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(id)
		if entry := find(passwd, 2, userPart); entry != nil {
			u.GID = parseID(entry[3])
			name = entry[0]
		}
	} else {
		entry := find(passwd, 0, userPart)
		if entry == nil || len(entry) < 4 {
			return User{}, fmt.Errorf("user %q is not in the image's /etc/passwd", userPart)
		}
		u.UID, u.GID, name = parseID(entry[2]), parseID(entry[3]), entry[0]
	}
	if hasGroup {
		if id, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(id)
		} else {
			entry := find(groups, 0, groupPart)
			if entry == nil || len(entry) < 3 {
				return User{}, fmt.Errorf("group %q is not in the image's /etc/group", groupPart)
			}
			u.GID = parseID(entry[2])
		}
	}
	if name != "" {
		for _, g := range groups {
			if len(g) >= 4 && containsMember(g[3], name) && parseID(g[2]) != u.GID {
				u.AdditionalGids = append(u.AdditionalGids, parseID(g[2]))
			}
		}
	}
	return u, nil
}

// readDB reads a colon-separated database; a missing file is empty.
func readDB(root *os.Root, name string) [][]string {
	data, err := root.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

func find(db [][]string, field int, value string) []string {
	for _, e := range db {
		if len(e) > field && e[field] == value {
			return e
		}
	}
	return nil
}

func parseID(s string) uint32 {
	id, _ := strconv.ParseUint(s, 10, 32)
	return uint32(id)
}

func containsMember(list, name string) bool {
	for m := range strings.SplitSeq(list, ",") {
		if m == name {
			return true
		}
	}
	return false
}
