/** Status mails through a real SMTP server on loopback (smtp-server), read back with mailparser. */
import { SMTPServer } from "smtp-server";
import { type ParsedMail, simpleParser } from "mailparser";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";

async function smtpServer(options: { user?: string; password?: string } = {}) {
  const received: ParsedMail[] = [];
  const envelopes: string[][] = [];
  const server = new SMTPServer({
    authOptional: !options.user,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        received.push(mail);
        envelopes.push(session.envelope.rcptTo.map((r) => r.address));
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received,
    envelopes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function setup(env: Record<string, string>) {
  const services = await testServices(env);
  const catalog = sampleCatalog({ count: 6, seed: 3 });
  catalog.datasets[1]!.resources = "broken";
  const remote = serveCkanCatalog(catalog);
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Record<string, unknown>) => runAction(getAction(name)!, ctx, input);
  await act("organization_create", { name: "org-m", title: "Mail Org" });
  await act("user_create", { name: "root", email: "root@example.org", sysadmin: true });
  await act("user_create", { name: "root-again", email: "ROOT@example.org", sysadmin: true });
  await act("user_create", { name: "boss", email: "boss@example.org" });
  await act("user_create", { name: "clerk", email: "clerk@example.org" });
  await act("organization_member_create", { id: "org-m", username: "boss", role: "admin" });
  await act("organization_member_create", { id: "org-m", username: "clerk", role: "editor" });
  await act("harvest_source_create", {
    name: "mailed",
    title: "Mailed source",
    url: remote.url,
    source_type: "ckan",
    owner_org: "org-m",
    config: { api_key: "secret-xyz-123", default_tags: [{ name: "t" }] },
  });
  const run = async () => await runJobInProcess(ctx, await getSource(services.sql, "mailed"));
  return {
    services,
    catalog,
    run,
    async [Symbol.asyncDispose]() {
      await remote.close();
      await services.close();
    },
  };
}

Deno.test("a failed job mails each recipient once with the report's numbers and no secret", async () => {
  const smtp = await smtpServer({ user: "mailer", password: "smtp-pass-777" });
  try {
    await using h = await setup({
      CKAN__HARVEST__STATUS_MAIL__ERRORED: "true",
      SMTP__SERVER: `127.0.0.1:${smtp.port}`,
      SMTP__USER: "mailer",
      SMTP__PASSWORD: "smtp-pass-777",
      SMTP__MAIL_FROM: "harvest@portal.example",
      CKAN__SITE_TITLE: "My Portal",
      CKAN__SITE_URL: "https://portal.example",
    });
    const summary = await h.run();
    assertEquals(summary.stats.errored, 1);
    assertEquals(smtp.received.length, 2, "one mail per recipient, the twin address de-duplicated");
    assertEquals(smtp.envelopes.flat().sort(), ["boss@example.org", "root@example.org"]);
    for (const mail of smtp.received) {
      assertEquals(mail.subject, "My Portal - Harvesting Job - Error Notification");
      assertEquals(mail.from?.value[0]?.address, "harvest@portal.example");
      const text = mail.text ?? "";
      assertMatch(text, /failure notification of the latest harvest job set-up in https:\/\/portal\.example/);
      assertMatch(text, new RegExp(`Job URL: https://portal.example/harvest/mailed/job/${summary.jobId}`));
      assertMatch(text, /Records in Error: 1\nRecords Added: 5\nRecords Updated: 0/);
      assertMatch(text, /Organization: Mail Org/);
      assertMatch(text, new RegExp(`Document Errors: 1\\n  - ${h.catalog.datasets[1]!.id}: `));
      assertMatch(text, /"api_key":"\(hidden\)"/);
      assert(!text.includes("secret-xyz-123"), "the api_key is not in the mail");
      assert(!text.includes("smtp-pass-777"));
    }
    // The next failing job mails again.
    const second = await h.run();
    assertEquals(second.stats.errored, 1, "the broken record still fails");
    assertEquals(smtp.received.length, 4);
  } finally {
    await smtp.close();
  }
});

Deno.test("a clean job sends a summary only with status_mail.all; a dead mail server never breaks a job", async () => {
  const smtp = await smtpServer();
  try {
    {
      await using h = await setup({
        CKAN__HARVEST__STATUS_MAIL__ERRORED: "true",
        SMTP__SERVER: `127.0.0.1:${smtp.port}`,
      });
      h.catalog.datasets[1]!.resources = [];
      const clean = await h.run();
      assertEquals(clean.stats.errored, 0);
      assertEquals(smtp.received.length, 0, "no summary without status_mail.all");
    }
    {
      await using h = await setup({ CKAN__HARVEST__STATUS_MAIL__ALL: "true", SMTP__SERVER: `127.0.0.1:${smtp.port}` });
      h.catalog.datasets[1]!.resources = [];
      const clean = await h.run();
      assertEquals(clean.stats.added, 6);
      assertEquals(smtp.received.length, 2);
      assertEquals(smtp.received[0]!.subject, "Harvest - Harvesting Job Successful - Summary Notification");
      assertMatch(smtp.received[0]!.text ?? "", /summary notification[\s\S]*Records Added: 6/);
      assert(!(smtp.received[0]!.text ?? "").includes("Error Summary"));
    }
  } finally {
    await smtp.close();
  }
  // The server is gone: the job still finishes, with its stats.
  await using h = await setup({ CKAN__HARVEST__STATUS_MAIL__ALL: "true", SMTP__SERVER: `127.0.0.1:${smtp.port}` });
  const summary = await h.run();
  assertEquals(summary.stats.added, 5);
  const [job] = await h.services.sql`SELECT status FROM harvest_job WHERE id = ${summary.jobId}`;
  assertEquals(job!.status, "Finished");
});
