package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"

	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
)

// SendInventory uploads an inventory: a delta against the list the server
// last accepted (kept in InventoryFile), or the whole list the first time
// and whenever the server says the delta does not apply. The accepted
// list is saved for the next delta.
func (a *Agent) SendInventory(ctx context.Context, inv *inventory.Inventory) (changes int, err error) {
	a.uploadMu.Lock()
	defer a.uploadMu.Unlock()
	var last []inventory.Package
	if a.InventoryFile != "" {
		if data, err := os.ReadFile(a.InventoryFile); err == nil {
			if json.Unmarshal(data, &last) != nil {
				last = nil
			}
		}
	}
	up := fleet.InventoryUpload{Host: inv.Host, Hash: fleet.PackagesHash(inv.Packages), Hotfixes: inv.Hotfixes, CollectedAt: inv.CollectedAt}
	if last != nil {
		d := inventory.Diff(last, inv.Packages)
		up.Delta, up.Base = &d, fleet.PackagesHash(last)
	} else {
		up.Full, up.Packages = true, inv.Packages
	}
	var out struct {
		Changes int `json:"changes"`
	}
	// The same upload as last time (retried after a busy answer) is sent
	// from its encoding: a 1,500-package list is worth encoding once.
	key := up.Base + "/" + up.Hash + "/" + inv.Host.Hostname
	body := a.lastUpload
	if body == nil || a.lastUploadKey != key {
		if body, err = encode(up); err != nil {
			return 0, err
		}
		a.lastUpload, a.lastUploadKey = body, key
	}
	err = a.Client.send(ctx, "POST", "/agent/v1/inventory", body, &out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict && !up.Full {
		up.Full, up.Packages, up.Delta, up.Base = true, inv.Packages, nil, ""
		a.lastUpload = nil
		err = a.Client.call(ctx, "POST", "/agent/v1/inventory", up, &out)
	}
	if err != nil {
		return 0, err
	}
	a.lastUpload = nil
	if a.InventoryFile != "" {
		data, _ := json.Marshal(inv.Packages)
		tmp := a.InventoryFile + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err == nil {
			os.Rename(tmp, a.InventoryFile)
		}
	}
	return out.Changes, nil
}

// InventoryTask is the inventory.collect task: collect this machine's
// inventory with collect and upload it.
func (a *Agent) InventoryTask(collect func(context.Context) (*inventory.Inventory, error)) TaskFunc {
	return func(ctx context.Context, _ json.RawMessage) (any, error) {
		inv, err := collect(ctx)
		if err != nil {
			return nil, err
		}
		n, err := a.SendInventory(ctx, inv)
		if err != nil {
			return nil, err
		}
		return map[string]any{"packages": len(inv.Packages), "changes": n, "errors": inv.Errors}, nil
	}
}
