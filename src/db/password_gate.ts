import type { Socket } from "node:net";
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const AUTH_TIMEOUT_MS = 10_000;

/**
 * Runs the start of the PostgreSQL wire protocol for one connection to the embedded database and
 * asks for the password before PGlite sees a single byte.
 *
 * PGlite accepts every startup message as superuser, so without this gate anyone on the machine could
 * open the loopback socket and read or change everything. The client's startup message is held back
 * until the password matches, then handed on (with anything that followed it) so PGlite answers it as
 * usual. Cleartext is enough here: the socket listens on loopback only, where only root can sniff, and
 * root can read the secret file anyway.
 *
 * Resolves with the bytes to hand on, or `undefined` when the connection was refused or went away.
 */
export function passwordGate(socket: Socket, secret: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let startup: Buffer | undefined;
    let user = "";
    let done = false;
    const finish = (result: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("close", onClose);
      socket.removeListener("error", onClose);
      resolve(result);
    };
    const refuse = (code: string, message: string) => {
      if (socket.writable) socket.end(errorResponse(code, message));
      socket.destroy();
      finish(undefined);
    };
    const timer = setTimeout(() => refuse("08P01", "authentication timed out"), AUTH_TIMEOUT_MS);
    const onClose = () => finish(undefined);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (!done) {
        if (!startup) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (length < 8 || length > 10_000) return refuse("08P01", "invalid startup packet");
          if (buffer.length < length) return;
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (length === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
            socket.write("N"); // no TLS on loopback; the client goes on in plain text
            continue;
          }
          if (code === CANCEL_REQUEST) return refuse("08P01", "cancel requests are not supported");
          if (code !== PROTOCOL_3) return refuse("08P01", "unsupported protocol version");
          startup = Buffer.from(message);
          user = startupParameter(startup, "user") ?? "";
          socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
          continue;
        }
        if (buffer.length < 5) return;
        const type = buffer[0];
        const length = buffer.readInt32BE(1);
        if (type !== 0x70 || length < 5 || length > 10_000) return refuse("08P01", "expected a password message");
        if (buffer.length < 1 + length) return;
        const given = buffer.subarray(5, length).toString("utf8").replace(/\0$/, "");
        const rest = buffer.subarray(1 + length);
        if (!sameSecret(given, secret)) {
          return refuse("28P01", `password authentication failed for user "${user.slice(0, 64)}"`);
        }
        return finish(Buffer.concat([startup, rest]));
      }
    };
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onClose);
  });
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  // timingSafeEqual needs equal lengths; comparing b with itself keeps the time independent of a's length.
  return a.length === b.length ? timingSafeEqual(a, b) : (timingSafeEqual(b, b), false);
}

function startupParameter(startup: Buffer, name: string): string | undefined {
  const parts = startup.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === name) return parts[i + 1];
  return undefined;
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, "utf8");
  const header = Buffer.alloc(5);
  header[0] = 0x45;
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}
