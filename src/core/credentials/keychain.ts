/**
 * The OS keychain (macOS Keychain, Windows Credential Manager, the Secret Service on Linux)
 * behind the small interface the token store needs, so that tests and headless machines can
 * choose another one.
 */
export interface Keychain {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

type Keytar = typeof import('@napi-rs/keyring/keytar.js');

/**
 * The OS keychain through the keytar API of `@napi-rs/keyring`. The native module is loaded on
 * first use, so a platform without a prebuilt binary fails like an unreachable keychain
 * instead of failing to start. Every call gives up after `timeoutMs` (default 5000): a Secret
 * Service that is registered but never answers must not hang a login.
 */
export function systemKeychain(options: { timeoutMs?: number } = {}): Keychain {
  const timeoutMs = options.timeoutMs ?? 5000;
  let keytar: Promise<Keytar> | undefined;
  const load = (): Promise<Keytar> => (keytar ??= import('@napi-rs/keyring/keytar.js'));

  return {
    getPassword: async (service, account) =>
      withTimeout((await load()).getPassword(service, account), timeoutMs),
    setPassword: async (service, account, password) =>
      withTimeout((await load()).setPassword(service, account, password), timeoutMs),
    deletePassword: async (service, account) =>
      withTimeout((await load()).deletePassword(service, account), timeoutMs),
  };
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the keychain did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
