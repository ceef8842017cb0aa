package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

func openStore(sf storageFlags) (*storage.Store, error) {
	return storage.Open(context.Background(), sf.data, sf.db)
}

func cliActor() model.Actor {
	return model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "cli"}, IP: "local"}
}

func runUser(env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("user needs a subcommand: add, list or passwd")
	}
	switch args[0] {
	case "add":
		return userAdd(env, args[1:])
	case "list":
		return userList(env, args[1:])
	case "passwd":
		return userPasswd(env, args[1:])
	}
	return usageError(fmt.Sprintf("unknown user subcommand %q (add, list, passwd)", args[0]))
}

func readPassword(env *Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("--password-stdin: no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	return pw, model.ValidatePassword(pw)
}

func userAdd(env *Env, args []string) error {
	fs := newFlags(env, "user add")
	var sf storageFlags
	sf.register(env, fs)
	name := fs.String("name", "", "username (required)")
	role := fs.String("role", "", "admin, analyst, officer, telecom or viewer (required)")
	agency := fs.Int64("agency", 0, "agency ID (required for officer and telecom)")
	display := fs.String("display-name", "", "full name")
	email := fs.String("email", "", "e-mail address")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input (otherwise one is generated and printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *role == "" {
		return usageError("--name and --role are required")
	}
	pw := ""
	if *stdin {
		var err error
		if pw, err = readPassword(env); err != nil {
			return err
		}
	} else {
		pw = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	u := model.User{Username: *name, Role: model.Role(*role), DisplayName: *display, Email: *email, PasswordHash: hash,
		MustChangePassword: !*stdin}
	if *agency != 0 {
		u.AgencyID = agency
	}
	if err := store.CreateUser(context.Background(), cliActor(), &u); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
	if !*stdin {
		fmt.Fprintf(env.Stdout, "password: %s (must be changed at first login)\n", pw)
	}
	return nil
}

func userList(env *Env, args []string) error {
	fs := newFlags(env, "user list")
	var sf storageFlags
	sf.register(env, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := store.ListUsers(context.Background(), model.System, storage.UserFilter{Limit: storage.MaxLimit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tAGENCY\tDISABLED")
	for _, u := range p.Items {
		ag := "-"
		if u.AgencyID != nil {
			ag = fmt.Sprint(*u.AgencyID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\n", u.ID, u.Username, u.Role, ag, u.Disabled)
	}
	return tw.Flush()
}

func userPasswd(env *Env, args []string) error {
	fs := newFlags(env, "user passwd")
	var sf storageFlags
	sf.register(env, fs)
	name := fs.String("name", "", "username (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--name is required")
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.UserByUsername(context.Background(), *name)
	if err != nil {
		return err
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := store.SetPassword(context.Background(), cliActor(), u.ID, hash, ""); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "new password for %s: %s (must be changed at next login)\n", u.Username, pw)
	return nil
}

func runToken(env *Env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("token needs a subcommand: create")
	}
	fs := newFlags(env, "token create")
	var sf storageFlags
	sf.register(env, fs)
	name := fs.String("user", "", "username the token acts as (required)")
	label := fs.String("name", "cli", "a label for the token")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 720h (0: no expiry)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--user is required")
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.UserByUsername(context.Background(), *name)
	if err != nil {
		return err
	}
	secret, _, err := auth.New(store, auth.DefaultConfig()).CreateToken(context.Background(), cliActor(), u.ID, *label, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, secret)
	return nil
}

func runMigrate(env *Env, args []string) error {
	fs := newFlags(env, "migrate")
	var sf storageFlags
	sf.register(env, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(env.Stdout, "%s schema at version %d (%s)\n", store.Backend(), store.SchemaVersion(), time.Since(start).Round(time.Millisecond))
	return nil
}
