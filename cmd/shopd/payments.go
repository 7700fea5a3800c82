package main

import (
	"context"
	"errors"
)

func paymentsCmd(ctx context.Context, c *cli, args []string) error {
	return errors.New("payments: being written")
}
