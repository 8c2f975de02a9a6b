package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// ValidateName checks a user name: 1–64 ASCII letters, digits and . _ @ + -,
// starting with a letter or digit (e-mail addresses fit). Names compare
// case-insensitively.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid user name %q: use 1 to 64 letters, digits and . _ @ + - (starting with a letter or digit)", name)
	}
	return nil
}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// RoleNeedsTenant reports whether users of role r belong to one tenant.
func RoleNeedsTenant(r string) bool { return r == RoleCustomer || r == RoleViewer }

// ValidateRole checks a role and its tenant: customer and viewer need one,
// admin and operator must not have one.
func ValidateRole(role, tenant string) error {
	if !ValidRole(role) {
		return fmt.Errorf("unknown role %q; use admin, operator, customer or viewer", role)
	}
	if RoleNeedsTenant(role) {
		if tenant == "" {
			return fmt.Errorf("role %s needs a tenant", role)
		}
		if strings.TrimSpace(tenant) != tenant || len(tenant) > 128 || strings.ContainsFunc(tenant, unicode.IsControl) {
			return fmt.Errorf("invalid tenant %q", tenant)
		}
	} else if tenant != "" {
		return fmt.Errorf("role %s sees all tenants and takes no tenant", role)
	}
	return nil
}

// ValidateLang checks a language: "", "ja" or "en".
func ValidateLang(lang string) error {
	switch lang {
	case "", "ja", "en":
		return nil
	}
	return fmt.Errorf("unknown language %q; use ja or en", lang)
}

// ValidateTimeZone checks an IANA time zone name ("" = the language's default).
func ValidateTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	if _, err := time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
		return fmt.Errorf("unknown time zone %q (use an IANA name such as Asia/Tokyo)", tz)
	}
	return nil
}

func validateUser(u User) error {
	return errors.Join(ValidateName(u.Name), ValidateRole(u.Role, u.Tenant), ValidateLang(u.Lang), ValidateTimeZone(u.TimeZone))
}

// CreateUser adds a user with a password (checked against the policy).
func (s *Service) CreateUser(ctx context.Context, u User, password string) (User, error) {
	if err := validateUser(u); err != nil {
		return User{}, err
	}
	if err := CheckPasswordPolicy(u.Name, password); err != nil {
		return User{}, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	u.CreatedAt, u.Disabled = s.now().UTC().Truncate(time.Millisecond), false
	id, err := s.store.AuthCreateUser(ctx, StoredUser{User: u, PasswordHash: h})
	if err != nil {
		if errors.Is(err, ErrExists) {
			return User{}, fmt.Errorf("user %q %w", u.Name, ErrExists)
		}
		return User{}, err
	}
	u.ID = id
	s.log.Info("user created", "user", u.Name, "role", u.Role, "tenant", u.Tenant)
	return u, nil
}

// UserByName returns a user, or an error wrapping ErrNotFound.
func (s *Service) UserByName(ctx context.Context, name string) (User, error) {
	su, err := s.store.AuthUser(ctx, name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return User{}, fmt.Errorf("no user %q: %w", name, ErrNotFound)
		}
		return User{}, err
	}
	return su.User, nil
}

// Users lists all users by name.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.AuthUsers(ctx) }

// SetPassword changes a user's password and ends all of their sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if err := CheckPasswordPolicy(u.Name, password); err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.store.AuthSetPassword(ctx, u.ID, h, true); err != nil {
		return err
	}
	s.log.Info("password changed; sessions ended", "user", u.Name)
	return nil
}

// SetPreferences sets a user's language and time zone.
func (s *Service) SetPreferences(ctx context.Context, name, lang, tz string) error {
	if err := errors.Join(ValidateLang(lang), ValidateTimeZone(tz)); err != nil {
		return err
	}
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	u.Lang, u.TimeZone = lang, tz
	return s.store.AuthUpdateUser(ctx, u)
}

// SetRole changes a user's role and tenant (their sessions and tokens carry
// the new rights at once). The last enabled admin keeps the admin role.
func (s *Service) SetRole(ctx context.Context, name, role, tenant string) error {
	if err := ValidateRole(role, tenant); err != nil {
		return err
	}
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin && role != RoleAdmin && !u.Disabled {
		if err := s.keepOneAdmin(ctx, u); err != nil {
			return err
		}
	}
	u.Role, u.Tenant = role, tenant
	if err := s.store.AuthUpdateUser(ctx, u); err != nil {
		return err
	}
	s.log.Info("user role changed", "user", u.Name, "role", role, "tenant", tenant)
	return nil
}

func (s *Service) keepOneAdmin(ctx context.Context, u User) error {
	us, err := s.store.AuthUsers(ctx)
	if err != nil {
		return err
	}
	for _, o := range us {
		if o.ID != u.ID && o.Role == RoleAdmin && !o.Disabled {
			return nil
		}
	}
	return fmt.Errorf("%s is the last enabled admin; add another admin first", u.Name)
}

// DisableUser disables a user: their sessions end and their tokens stop
// working. The last enabled admin cannot be disabled.
func (s *Service) DisableUser(ctx context.Context, name string) error {
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin && !u.Disabled {
		if err := s.keepOneAdmin(ctx, u); err != nil {
			return err
		}
	}
	if err := s.store.AuthSetDisabled(ctx, u.ID, true, s.now()); err != nil {
		return err
	}
	s.log.Info("user disabled", "user", u.Name)
	return nil
}

// EnableUser enables a disabled user again (their unexpired tokens work again).
func (s *Service) EnableUser(ctx context.Context, name string) error {
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.AuthSetDisabled(ctx, u.ID, false, s.now()); err != nil {
		return err
	}
	s.log.Info("user enabled", "user", u.Name)
	return nil
}

// FirstStartUser is the name of the admin FirstStart creates.
const FirstStartUser = "admin"

// FirstStart creates an admin user with a random password when there is no
// user at all. The caller shows the password once.
func (s *Service) FirstStart(ctx context.Context) (created bool, name, password string, err error) {
	n, err := s.store.AuthCountUsers(ctx)
	if err != nil || n > 0 {
		return false, "", "", err
	}
	password = GeneratePassword()
	if _, err := s.CreateUser(ctx, User{Name: FirstStartUser, Role: RoleAdmin}, password); err != nil {
		if errors.Is(err, ErrExists) {
			return false, "", "", nil // another process was first
		}
		return false, "", "", err
	}
	return true, FirstStartUser, password, nil
}
