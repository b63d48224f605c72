import { randomBytes } from 'node:crypto';

/** One sign-in under way: what the callback must match, and where to go afterwards. */
export interface SignInAttempt {
  state: string;
  /** Where to return after sign-in (already validated). */
  rd: string;
  created_at: number;
  /** A real provider's PKCE and nonce, kept until the callback. */
  nonce?: string;
  code_verifier?: string;
  redirect_uri?: string;
}

const LIFETIME_MS = 10 * 60 * 1000;
const MAX_ATTEMPTS = 10_000;

/**
 * Sign-ins under way, by `state`. The state is also put in a cookie of the browser that started
 * it, so a callback carrying another browser's state is refused. Each state works once.
 */
export class SignInAttempts {
  private readonly attempts = new Map<string, SignInAttempt>();

  begin(rd: string, extra: Partial<SignInAttempt> = {}): SignInAttempt {
    this.prune();
    const attempt = {
      ...extra,
      state: extra.state ?? randomBytes(24).toString('base64url'),
      rd,
      created_at: Date.now(),
    };
    this.attempts.set(attempt.state, attempt);
    return attempt;
  }

  /** The attempt for `state` if `cookieState` (the browser's) names the same one; used up. */
  finish(state: string | null, cookieState: string | undefined): SignInAttempt | null {
    if (!state || state !== cookieState) return null;
    const attempt = this.attempts.get(state);
    this.attempts.delete(state);
    if (!attempt || Date.now() - attempt.created_at > LIFETIME_MS) return null;
    return attempt;
  }

  /** Looks at an attempt without using it up (the dev sign-in page shows it). */
  peek(state: string | undefined): SignInAttempt | null {
    const attempt = state ? this.attempts.get(state) : undefined;
    return attempt && Date.now() - attempt.created_at <= LIFETIME_MS ? attempt : null;
  }

  private prune(): void {
    const now = Date.now();
    for (const [state, attempt] of this.attempts) {
      if (now - attempt.created_at > LIFETIME_MS) this.attempts.delete(state);
    }
    // a flood of abandoned sign-ins must not grow memory without bound
    while (this.attempts.size >= MAX_ATTEMPTS) {
      const oldest = this.attempts.keys().next().value;
      if (oldest === undefined) break;
      this.attempts.delete(oldest);
    }
  }
}
