#!/bin/sh
# Prints the path of stripe-mock (the Stripe API mock the Stripe adapter's
# tests start on loopback), installing the pinned version first if it is
# missing. Exits non-zero if it cannot be installed.
set -eu
VERSION=v0.203.0
if p=$(command -v stripe-mock 2>/dev/null); then
	echo "$p"
	exit 0
fi
bin=$(go env GOBIN)
[ -n "$bin" ] || bin=$(go env GOPATH)/bin
if [ ! -x "$bin/stripe-mock" ]; then
	echo "installing stripe-mock $VERSION into $bin" >&2
	GOFLAGS= go install "github.com/stripe/stripe-mock@$VERSION" >&2
fi
echo "$bin/stripe-mock"
