//! Sign-up, log-in, sessions and deletion.

use super::{require_admin, Chat};
use crate::auth::{NewSession, SessionToken};
use crate::credentials::CheckTicket;
use crate::event::{Delivery, Event};
use crate::user::{NewUser, Password, Role, User, Username};
use crate::{DomainError, DomainResult, UserId};

/// A successful log-in.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// Who logged in.
    pub user: User,
    /// The bearer token to present from now on.
    pub token: SessionToken,
    /// When the token stops being accepted.
    pub expires_at: crate::Timestamp,
}

impl Chat {
    /// Creates a user. Anyone may sign up as a client; creating an agent or an admin takes an
    /// admin `actor`.
    pub fn sign_up(
        &self,
        actor: Option<&User>,
        username: &str,
        password: &str,
        role: Role,
    ) -> DomainResult<User> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        if role != Role::Client {
            match actor {
                Some(admin) => require_admin(admin)?,
                None => return Err(DomainError::Unauthenticated),
            }
        }
        self.create_user(username, &password, role)
    }

    /// Creates the first admin (for `chat-server create-admin` and start-up config). Fails with
    /// Conflict if the username is taken.
    pub fn create_admin(&self, username: &str, password: &str) -> DomainResult<User> {
        self.create_user(
            Username::parse(username)?,
            &Password::parse(password)?,
            Role::Admin,
        )
    }

    /// Whether any active admin exists.
    pub fn has_admin(&self) -> DomainResult<bool> {
        Ok(self.store.count_active_with_role(Role::Admin)? > 0)
    }

    fn create_user(
        &self,
        username: Username,
        password: &Password,
        role: Role,
    ) -> DomainResult<User> {
        let password_hash = self.hasher.hash(password)?;
        self.store.insert_user(NewUser {
            username,
            password_hash,
            role,
            created_at: self.now(),
        })
    }

    /// Checks a username and password (one bcrypt verification either way). Unknown users,
    /// deleted users and wrong passwords all answer [`DomainError::Unauthenticated`]; a
    /// username with a control character is Invalid (field `username`) and reaches no store.
    pub fn authenticate_password(&self, username: &str, password: &str) -> DomainResult<User> {
        self.check_password(username, password, false)
    }

    /// [`Chat::authenticate_password`] for clients that send username + password with every
    /// request (the seed's endpoints): with the verified-credential cache configured
    /// ([`crate::credentials`]), a password verified for this user and its stored hash a moment
    /// ago is accepted without bcrypt. A wrong password, a new hash or a deleted user answers
    /// exactly as without the cache.
    pub fn authenticate_password_repeatedly(
        &self,
        username: &str,
        password: &str,
    ) -> DomainResult<User> {
        self.check_password(username, password, true)
    }

    fn check_password(&self, username: &str, password: &str, cached: bool) -> DomainResult<User> {
        crate::text::check("username", username)?;
        let user = self.store.user_by_username(username.trim())?;
        self.verify_password(user, password, cached)
    }

    /// Checks `password` against `user` as read by its username (`None`: no such user, which
    /// still costs one bcrypt verification, against a decoy hash). `cached`: through the
    /// verified-credential cache.
    pub(super) fn verify_password(
        &self,
        user: Option<User>,
        password: &str,
        cached: bool,
    ) -> DomainResult<User> {
        let user = user.filter(|u| !u.is_deleted());
        let cache = self.credentials.as_ref().filter(|_| cached);
        let now = self.now();
        match user {
            Some(user) if cache.is_some_and(|c| c.matches(&user, password, now)) => Ok(user),
            Some(user) if self.hasher.verify(password, &user.password_hash) => {
                if let Some(cache) = cache {
                    cache.remember(&user, password, now);
                }
                Ok(user)
            }
            Some(_) => Err(DomainError::Unauthenticated),
            None => {
                let _ = self.hasher.verify(password, &self.decoy_hash);
                Err(DomainError::Unauthenticated)
            }
        }
    }

    /// Logs in: checks the password once and opens a session whose token needs no bcrypt.
    pub fn log_in(&self, username: &str, password: &str) -> DomainResult<LoggedIn> {
        let user = self.authenticate_password(username, password)?;
        let token = SessionToken::generate();
        let now = self.now();
        let expires_at = now.plus_millis(self.config.session_ttl_ms);
        self.store.insert_session(NewSession {
            token_hash: token.hash(),
            user_id: user.id,
            created_at: now,
            expires_at,
        })?;
        Ok(LoggedIn {
            user,
            token,
            expires_at,
        })
    }

    /// The user behind a bearer token: from the session cache when it knows the token (and the
    /// config asks for one), else read from the store (and then remembered).
    pub fn authenticate_token(&self, token: &str) -> DomainResult<User> {
        let hash = SessionToken::from_presented(token).hash();
        let now = self.now();
        if let Some(user) = self.sessions.as_ref().and_then(|c| c.get(&hash, now)) {
            return Ok(user);
        }
        let ticket = self.sessions.as_ref().map(|c| c.ticket());
        let found = self
            .store
            .session_user(&hash, now)?
            .ok_or(DomainError::Unauthenticated)?;
        if let (Some(cache), Some(ticket)) = (&self.sessions, ticket) {
            cache.remember(ticket, &hash, &found.user, found.expires_at, now);
        }
        Ok(found.user)
    }

    /// The user behind a bearer token if the session cache knows it, without reading the store:
    /// async callers ask this first and go off their workers only when it answers `None`
    /// ([`Chat::authenticate_token`] then).
    pub fn authenticate_token_cached(&self, token: &str) -> Option<User> {
        let cache = self.sessions.as_ref()?;
        cache.get(&SessionToken::from_presented(token).hash(), self.now())
    }

    /// Ends the session of a bearer token (the actor's own): refused from then on, on this
    /// instance at once and on the others when they hear of it ([`Event::SessionsEnded`]).
    pub fn log_out(&self, actor: &User, token: &str) -> DomainResult<()> {
        let hash = SessionToken::from_presented(token).hash();
        self.store.delete_session(&hash)?;
        if let Some(cache) = &self.sessions {
            cache.forget_token(&hash);
        }
        self.publish(Event::SessionsEnded {
            user_id: actor.id,
            token_hash: Some(hash),
        });
        Ok(())
    }

    /// What an instance does with a delivery on [`crate::event::Topic::Sessions`]: forgets the ended
    /// sessions from its cache, or everything after a gap (some may have been missed; a
    /// listener that (re)subscribes hands itself a gap for the same reason).
    pub fn on_sessions_delivery(&self, delivery: &Delivery) {
        let (sessions, credentials) = (self.sessions.as_ref(), self.credentials.as_ref());
        match delivery {
            Delivery::Gap => {
                if let Some(cache) = sessions {
                    cache.clear();
                }
                if let Some(cache) = credentials {
                    cache.forget_all_keys();
                }
            }
            Delivery::Event(event) => match event.as_ref() {
                Event::SessionsEnded {
                    user_id,
                    token_hash,
                } => match (sessions, token_hash) {
                    (Some(cache), Some(hash)) => cache.forget_token(hash),
                    (Some(cache), None) => cache.forget_user(*user_id),
                    (None, _) => {}
                },
                Event::PasswordFailed { throttle_keys } => {
                    if let Some(cache) = credentials {
                        cache.forget_keys(throttle_keys);
                    }
                }
                _ => {}
            },
        }
    }

    /// Whether a username + password request under these log-in throttle keys (their
    /// fingerprints) may skip the throttle's check: its password is remembered and passed the
    /// check under the same keys with no failure heard of since ([`crate::credentials`]).
    pub fn password_exempt_from_throttle(
        &self,
        username: &str,
        password: &str,
        throttle_keys: &[String],
    ) -> bool {
        self.credentials
            .as_ref()
            .is_some_and(|c| c.exempts(username, password, throttle_keys, self.now()))
    }

    /// A ticket to take before a throttle check ([`Chat::password_passed_throttle`]).
    pub fn throttle_ticket(&self) -> Option<CheckTicket> {
        self.credentials.as_ref().map(|c| c.ticket())
    }

    /// `username`'s password was right and passed the throttle's check (taken after `ticket`)
    /// under these keys: later requests under them may skip the check while no failure is
    /// heard of.
    pub fn password_passed_throttle(
        &self,
        ticket: Option<CheckTicket>,
        username: &str,
        throttle_keys: &[String],
    ) {
        if let (Some(cache), Some(ticket)) = (&self.credentials, ticket) {
            cache.clear_keys(ticket, username, throttle_keys);
        }
    }

    /// A password check failed under these throttle keys: no remembered password skips the
    /// throttle's check under them any more, here at once and on the other instances when they
    /// hear of it ([`Event::PasswordFailed`]).
    pub fn password_failed(&self, throttle_keys: Vec<String>) {
        if let Some(cache) = &self.credentials {
            cache.forget_keys(&throttle_keys);
            self.publish(Event::PasswordFailed { throttle_keys });
        }
    }

    /// Whether this instance hears the other instances' ended sessions and failed passwords (its
    /// subscription to [`crate::event::Topic::Sessions`] is up); either way, what may have been
    /// missed is forgotten (as after a gap).
    pub fn on_sessions_subscription(&self, listening: bool) {
        if let Some(cache) = &self.credentials {
            cache.set_listening(listening);
        }
        self.on_sessions_delivery(&Delivery::Gap);
    }

    /// Whether this instance caches sessions (the config's `session_cache`).
    pub fn caches_sessions(&self) -> bool {
        self.sessions.is_some()
    }

    /// Whether this instance remembers verified passwords (the config's `credential_cache`).
    pub fn caches_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// Softly deletes a user (nothing is lost) and ends its sessions. A user may delete itself;
    /// an admin may delete anyone.
    pub fn delete_user(&self, actor: &User, id: UserId) -> DomainResult<()> {
        if actor.id != id && actor.role != Role::Admin {
            return Err(DomainError::forbidden("you may delete only yourself"));
        }
        if !self.store.soft_delete_user(id, self.now())? {
            return Err(DomainError::NotFound("user"));
        }
        if let Some(cache) = &self.credentials {
            cache.forget(id);
        }
        self.store.delete_user_sessions(id)?;
        if let Some(cache) = &self.sessions {
            cache.forget_user(id);
        }
        self.publish(Event::SessionsEnded {
            user_id: id,
            token_hash: None,
        });
        Ok(())
    }

    /// A user the actor may see: itself, or anyone for staff. A deleted user is NotFound, as
    /// deleting it again is: once deleted it is gone from the API.
    pub fn user(&self, actor: &User, id: UserId) -> DomainResult<User> {
        if actor.id != id && !actor.role.is_staff() {
            return Err(DomainError::forbidden("you may see only yourself"));
        }
        self.store
            .user_by_id(id)?
            .filter(|u| !u.is_deleted())
            .ok_or(DomainError::NotFound("user"))
    }
}
