import { createHash } from 'node:crypto';

/** What the provider said about a credential, and until when it may be believed. */
export interface CachedAnswer<T> {
  value: T;
  /** Milliseconds since the epoch after which the answer is stale (a token's `exp`). */
  staleAfterMs?: number;
}

interface Entry<T> {
  until: number;
  answer: Promise<CachedAnswer<T>>;
}

/**
 * The provider's answers about credentials (bearer tokens, Basic passwords), kept for a short
 * while under the SHA-256 of the credential so the credential itself is never held. Checks of
 * one credential that overlap share a single request; a failed check is not kept.
 */
export class AnswerCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The kept answer for `credential`, or the one `ask` gets now. */
  async answer(credential: string, ask: () => Promise<CachedAnswer<T>>): Promise<T> {
    const key = createHash('sha256').update(credential).digest('hex');
    const cached = this.entries.get(key);
    if (cached && cached.until > this.now()) return (await cached.answer).value;

    const entry: Entry<T> = { until: this.now() + this.ttlMs, answer: ask() };
    this.remember(key, entry);
    try {
      const answer = await entry.answer;
      if (answer.staleAfterMs !== undefined) {
        entry.until = Math.min(entry.until, answer.staleAfterMs);
      }
      return answer.value;
    } catch (error) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw error;
    }
  }

  clear(): void {
    this.entries.clear();
  }

  private remember(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
