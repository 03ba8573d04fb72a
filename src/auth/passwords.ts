/**
 * Password hashing with PBKDF2-SHA256 from WebCrypto (600,000 iterations, OWASP's figure for it), so no
 * native dependency is needed. Stored as `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
const ITERATIONS = 600_000;

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `pbkdf2-sha256$${ITERATIONS}$${b64(salt)}$${b64(await derive(password, salt, ITERATIONS))}`;
}

/** A salt for the work done when there is no stored hash to check against. */
const DUMMY_SALT = crypto.getRandomValues(new Uint8Array(16));

/**
 * Checks a password against a stored hash. With no usable hash (an unknown user, a user without a
 * password) the same key derivation runs anyway, so the answer takes as long as for a known user and
 * the timing does not tell which names exist.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const [scheme, iterations, salt, hash] = (stored ?? "").split("$");
  if (scheme !== "pbkdf2-sha256" || !iterations || !salt || !hash) {
    await derive(password, DUMMY_SALT, ITERATIONS);
    return false;
  }
  const actual = await derive(password, unb64(salt), Number(iterations));
  const expected = unb64(hash);
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= actual[i]! ^ expected[i]!;
  return diff === 0;
}
