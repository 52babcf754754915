/** One account per email, case-insensitive: the form every comparison and reservation uses. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
