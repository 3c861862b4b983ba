package store

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/errs"
)

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func notFound(msg string) error { return errs.E(errs.NotFound, "%s", msg) }
