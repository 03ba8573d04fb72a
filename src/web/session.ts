/**
 * Web UI sessions and CSRF. The session cookie holds a random token (HttpOnly, SameSite=Lax); the
 * database keeps its SHA-256, the user and a form token that every POST must carry. Before login, a
 * random cookie doubles as the form token of the login form.
 *
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Services } from "../services_type.ts";
import { type Actor, ANONYMOUS } from "../auth/actor.ts";
import { randomToken } from "../auth/tokens.ts";
import { createSession, endSession, findSession } from "../auth/sessions.ts";
import { credentials } from "../auth/users.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { lockedFor, recordFailure, recordSuccess, throttleKeys } from "../auth/throttle.ts";

export const SESSION_COOKIE = "harvest_session";
export const PRE_CSRF_COOKIE = "harvest_csrf";
const SESSION_DAYS = 7;

export interface WebSession {
  actor: Actor;
  /** The token forms must send back as `_csrf`. */
  csrf: string;
  loggedIn: boolean;
}

function secure(services: Services): boolean {
  return services.config.values["ckan.site_url"].startsWith("https:");
}

/** The session of a request: its user, or anonymous with the pre-login form token. */
export async function readSession(services: Services, c: Context): Promise<WebSession> {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) {
    const session = await findSession(services.sql, token);
    if (session) return { ...session, loggedIn: true };
  }
  let pre = getCookie(c, PRE_CSRF_COOKIE);
  if (!pre || !/^[0-9a-f]{64}$/.test(pre)) {
    pre = randomToken();
    setCookie(c, PRE_CSRF_COOKIE, pre, { httpOnly: true, sameSite: "Strict", path: "/", secure: secure(services) });
  }
  return { actor: ANONYMOUS, csrf: pre, loggedIn: false };
}

/** What a sign-in attempt came to: in, a wrong name or password, or too many failures (wait `retryAfter` s). */
export type LogInResult = { ok: true } | { ok: false; retryAfter?: number };

/**
 * Signs a user in. Rate limited per account and per client address (see `auth/throttle.ts`); the
 * password hash is computed for unknown users too, so neither the answer nor its timing tells which
 * names exist.
 */
export async function logIn(services: Services, c: Context, name: string, password: string): Promise<LogInResult> {
  const address = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
  const keys = throttleKeys(name, address);
  const wait = await lockedFor(services.sql, keys);
  if (wait > 0) return { ok: false, retryAfter: wait };
  const user = await credentials(services.sql, name);
  const ok = await verifyPassword(password, user?.password_hash ?? null);
  if (!user || !ok) {
    await recordFailure(services.sql, keys);
    return { ok: false };
  }
  await recordSuccess(services.sql, keys);
  const token = await createSession(services.sql, user.id, SESSION_DAYS);
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: secure(services),
    maxAge: SESSION_DAYS * 86400,
  });
  deleteCookie(c, PRE_CSRF_COOKIE, { path: "/" });
  return { ok: true };
}

export async function logOut(services: Services, c: Context): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) await endSession(services.sql, token);
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}

/** Compares two strings in constant time. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
