package main

import (
	"context"
	"errors"
)

func inventoryCmd(ctx context.Context, c *cli, args []string) error {
	return errors.New("inventory: being written")
}
