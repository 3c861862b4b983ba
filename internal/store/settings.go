package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/settings"
)

// SettingsChannel is the NOTIFY channel of settings changes.
const SettingsChannel = "signalgate_settings"

// SettingsStore keeps the deployment-wide settings document.
type SettingsStore struct{ db *DB }

var _ settings.Store = (*SettingsStore)(nil)

// Settings returns the settings store.
func (db *DB) Settings() *SettingsStore { return &SettingsStore{db: db} }

type settingsRow struct {
	Singleton bool `gorm:"primaryKey"`
	Value     []byte
	UpdatedAt time.Time
	UpdatedBy string
}

func (settingsRow) TableName() string { return "settings" }

// Settings returns the saved document, or the defaults when none was saved.
func (s *SettingsStore) Settings(ctx context.Context) (settings.Settings, error) {
	var row settingsRow
	err := s.db.gorm.WithContext(ctx).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return settings.Defaults(), nil
	}
	if err != nil {
		return settings.Settings{}, fmt.Errorf("read settings: %w", err)
	}
	out := settings.Defaults()
	if err := json.Unmarshal(row.Value, &out); err != nil {
		return settings.Settings{}, fmt.Errorf("decode settings: %w", err)
	}
	return out, nil
}

// SaveSettings replaces the document and records e.
func (s *SettingsStore) SaveSettings(ctx context.Context, v settings.Settings, by string, at time.Time, e audit.Entry) error {
	value, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&settingsRow{Singleton: true, Value: value, UpdatedAt: at, UpdatedBy: by}).Error; err != nil {
			return fmt.Errorf("save settings: %w", err)
		}
		return notifyAndAudit(tx, SettingsChannel, e)
	})
}
