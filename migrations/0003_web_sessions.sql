-- Web UI sessions: the cookie holds a random token, the table its SHA-256 and the form token (CSRF).
CREATE TABLE web_session (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  csrf text NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX web_session_user_idx ON web_session (user_id);
