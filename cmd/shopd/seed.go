package main

import (
	"context"
	"errors"
)

func seedCmd(ctx context.Context, c *cli, args []string) error {
	return errors.New("seed: being written")
}

// seedDemo seeds a small demo shop if the catalog is empty and returns a new
// owner API key ("" if the shop was seeded before).
func seedDemo(ctx context.Context, a *app) (string, error) {
	return "", nil
}
