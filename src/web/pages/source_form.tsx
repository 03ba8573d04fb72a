/**
 * The forms that create and edit a source.
 *
 * @module
 */
import type { Context } from "hono";
import { AuthorizationError, ValidationError } from "../../errors/mod.ts";
import { FREQUENCIES } from "../../harvest/dicts.ts";
import { Csrf } from "../layout.tsx";
import { type Dict, type Env, type Kit, one, type SourceDict, type WebApp } from "../kit.tsx";

export function sourceFormPages(app: WebApp, k: Kit): void {
  const { act, page, problem } = k;
  // New and edit forms.
  async function sourceForm(
    c: Context<Env>,
    values: Dict,
    errors: Record<string, string[]>,
    existing?: SourceDict,
    detected?: { text: string; ok: boolean },
  ) {
    const infos = await act(c, "harvesters_info_show", {});
    const session = c.get("session");
    const orgs: { name: string; title?: string }[] = session.actor.sysadmin
      ? (await act(c, "organization_list", { all_fields: true, limit: 1000 })).map((o) =>
        typeof o === "string" ? { name: o } : o
      )
      : ((await act(c, "user_show", { id: session.actor.name })).organizations ?? [])
        .filter((o) => o.capacity !== "member").map((o) => ({ name: o.name, title: o.name }));
    const field = (name: string) => ({
      id: name,
      name,
      "aria-invalid": errors[name] ? "true" : undefined,
      "aria-describedby": errors[name] ? `${name}-error` : undefined,
    });
    const errorFor = (name: string) =>
      errors[name] ? <p class="error" id={`${name}-error`}>{errors[name]!.join(" ")}</p> : null;
    const action = existing ? `/harvest/${existing.name}/edit` : "/harvest/new";
    return page(
      c,
      existing ? `Edit ${existing.title}` : "Add a harvest source",
      <>
        <h1>{existing ? `Edit ${existing.title || existing.name}` : "Add a harvest source"}</h1>
        {Object.keys(errors).length ? <p class="error" role="alert">Please correct the fields marked below.</p> : null}
        <form method="post" action={action} data-existing={existing ? "true" : "false"}>
          <Csrf session={session} />
          <label for="url">URL of the remote catalog</label>
          <input type="url" {...field("url")} value={String(values.url ?? "")} required />
          {errorFor("url")}
          {existing ? null : (
            <p>
              <button
                type="submit"
                class="secondary"
                id="detect-button"
                formaction="/harvest/new/detect"
                formnovalidate
              >
                Detect the type
              </button>{" "}
              <span class="hint">probes the URL and fills in the type and a starting configuration</span>
            </p>
          )}
          {detected
            ? <p id="detect-result" role="status" class={detected.ok ? "flash" : "error"}>{detected.text}</p>
            : null}
          <label for="title">Title</label>
          <input type="text" {...field("title")} value={String(values.title ?? "")} />
          {errorFor("title")}
          <label for="name">Name (in URLs)</label>
          <input
            type="text"
            {...field("name")}
            value={String(values.name ?? "")}
            required
            pattern="[a-z0-9_\-]{2,100}"
          />
          <p class="hint" id="name-preview">
            Lower-case letters, digits, - and _. The source will live at /harvest/<span>
              {String(values.name ?? "")}
            </span>
          </p>
          {errorFor("name")}
          <fieldset>
            <legend>Type</legend>
            {infos.map((h) => (
              <label class="type-option">
                <input
                  type="radio"
                  name="source_type"
                  value={h.name}
                  checked={values.source_type === h.name}
                  required
                />{" "}
                <strong>{h.title}</strong> <span class="muted">{h.description}</span>
              </label>
            ))}
          </fieldset>
          {errorFor("source_type")}
          <label for="config">Configuration (JSON)</label>
          <textarea {...field("config")}>{String(values.config ?? "")}</textarea>
          <p class="hint">Checked by the chosen harvester; leave empty for the defaults.</p>
          {errorFor("config")}
          <label for="frequency">Update frequency</label>
          <select {...field("frequency")}>
            {FREQUENCIES.map((f) => <option value={f} selected={(values.frequency ?? "MANUAL") === f}>{f}</option>)}
          </select>
          {errorFor("frequency")}
          <label for="owner_org">Organization</label>
          <select {...field("owner_org")}>
            {session.actor.sysadmin ? <option value="">(none)</option> : null}
            {orgs.map((o) => <option value={o.name} selected={values.owner_org === o.name}>{o.title || o.name}
            </option>)}
          </select>
          {errorFor("owner_org")}
          <label>
            <input type="checkbox" name="private" value="true" checked={values.private === true} />{" "}
            Private (only members of the organization see it)
          </label>
          <p>
            <button type="submit">{existing ? "Save" : "Create source"}</button>{" "}
            <a href={existing ? `/harvest/${existing.name}` : "/harvest"}>Cancel</a>
          </p>
        </form>
        <script src="/harvest/static/source_form.js" defer></script>
      </>,
      Object.keys(errors).length ? 409 : 200,
    );
  }
  const formValues = (form: Record<string, string | string[]>) => ({
    url: one(form.url).trim(),
    title: one(form.title),
    name: one(form.name).trim(),
    source_type: one(form.source_type),
    config: one(form.config),
    frequency: one(form.frequency) || "MANUAL",
    owner_org: one(form.owner_org) || null,
    private: one(form.private) === "true",
  });

  app.get("/harvest/new", async (c) => {
    if (!c.get("session").loggedIn) return c.redirect("/user/login?next=/harvest/new", 303);
    return await sourceForm(c, {}, {});
  });
  app.post("/harvest/new/detect", async (c) => {
    const values = formValues(c.get("form"));
    try {
      const d = await act(c, "harvest_source_detect", { url: values.url });
      if (!d.source_type) {
        return await sourceForm(c, values, {}, undefined, { ok: false, text: `Not recognised: ${d.reason}` });
      }
      if (!d.registered) {
        return await sourceForm(c, values, {}, undefined, {
          ok: false,
          text: `This looks like a ${d.source_type} source (${d.reason}), but this service has no such harvester.`,
        });
      }
      const config = Object.keys(d.config).length ? JSON.stringify(d.config, null, 2) : "";
      return await sourceForm(
        c,
        {
          ...values,
          source_type: d.source_type,
          config: values.config.trim() ? values.config : config,
        },
        {},
        undefined,
        { ok: true, text: `Detected: ${d.source_type} (${d.reason}).` },
      );
    } catch (error) {
      if (error instanceof ValidationError) return await sourceForm(c, values, error.fields);
      return problem(c, error);
    }
  });
  app.post("/harvest/new", async (c) => {
    const values = formValues(c.get("form"));
    try {
      const created = await act(c, "harvest_source_create", values);
      return c.redirect(`/harvest/${created.name}?done=${encodeURIComponent("The source was created.")}`, 303);
    } catch (error) {
      if (error instanceof ValidationError) return await sourceForm(c, values, error.fields);
      return problem(c, error);
    }
  });
  app.get("/harvest/:name/edit", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    if (s.config === undefined) throw new AuthorizationError("Only editors of its organization may edit this source");
    return await sourceForm(c, { ...s, owner_org: s.organization?.name ?? null }, {}, s);
  });
  app.post("/harvest/:name/edit", async (c) => {
    const values = formValues(c.get("form"));
    let existing: SourceDict | undefined;
    try {
      existing = await act(c, "harvest_source_show", { id: c.req.param("name") });
      const saved = await act(c, "harvest_source_update", { id: existing.id, ...values });
      return c.redirect(`/harvest/${saved.name}?done=${encodeURIComponent("Saved.")}`, 303);
    } catch (error) {
      if (error instanceof ValidationError && existing) return await sourceForm(c, values, error.fields, existing);
      return problem(c, error);
    }
  });
}
