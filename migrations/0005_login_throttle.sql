-- Failed web sign-ins per account and per client address, for rate limiting with backoff.
CREATE TABLE login_throttle (
  key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated timestamptz NOT NULL DEFAULT now()
);
