// Errors every stage may throw or report, on the ground floor so that no stage imports config (or any other
// stage) for an error class.

/** A user mistake: reported as one clear line, never with a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** The message of anything thrown: an Error's message, a thrown object's `message`, else the value as text. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  const message = (e as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(e);
}
