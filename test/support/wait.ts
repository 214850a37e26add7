// Waiting in tests for something another process or a timer brings about.

/** Resolves once `check()` holds, polling every 20 ms; fails after `ms`. */
export async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const pause = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));
