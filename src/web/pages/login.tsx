/**
 * Sign-in and sign-out.
 *
 * @module
 */
import type { Context } from "hono";
import { logIn, logOut } from "../session.ts";
import { Csrf } from "../layout.tsx";
import { type Env, type Kit, one, type WebApp } from "../kit.tsx";

export function loginPages(app: WebApp, k: Kit): void {
  const { page, sameSitePath, services } = k;
  app.get("/user/login", (c) => loginPage(c));
  function loginPage(c: Context<Env>, error?: string, status?: 401 | 429) {
    const next = c.req.query("next") ?? one(c.get("form")?.next) ?? "/harvest";
    return page(
      c,
      "Log in",
      <>
        <h1>Log in</h1>
        {error ? <p class="error" role="alert">{error}</p> : null}
        <form method="post" action="/user/login">
          <Csrf session={c.get("session")} />
          <input type="hidden" name="next" value={sameSitePath(next)} />
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="username" required />
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
          <p>
            <button type="submit">Log in</button>
          </p>
        </form>
      </>,
      status ?? (error ? 401 : 200),
    );
  }
  app.post("/user/login", async (c) => {
    const form = c.get("form");
    const result = await logIn(services, c, one(form.username), one(form.password));
    if (!result.ok && result.retryAfter) {
      c.header("Retry-After", String(result.retryAfter));
      return loginPage(c, `Too many failed sign-ins: try again in ${result.retryAfter} s.`, 429);
    }
    if (!result.ok) return loginPage(c, "Wrong username or password.");
    return c.redirect(sameSitePath(one(form.next)), 303);
  });
  app.post("/user/logout", async (c) => {
    await logOut(services, c);
    return c.redirect("/harvest", 303);
  });
}
