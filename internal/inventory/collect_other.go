//go:build !windows

package inventory

import "context"

func collectPlatform(ctx context.Context, opts Options, inv *Inventory) error {
	return collectRoot(ctx, opts.Root, inv)
}
