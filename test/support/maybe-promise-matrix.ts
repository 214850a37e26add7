// Every combination of what handleMaybePromise's four factories can do (answer, answer a promise,
// a fake promise or a bare thenable, throw, reject), run through one build of
// @whatwg-node/promise-helpers, each described by what the call gave (a value, a throw, a promise
// or thenable and how it settled) and which factories ran in which order. The gateway's request
// path goes through these helpers (yoga, envelop and @whatwg-node/server), so a patch to them must
// give, case for case, what the unpatched package gave.

/** The part of the package's API the matrix drives. */
export interface MaybePromiseHelpers {
  handleMaybePromise(
    input: (...args: unknown[]) => unknown,
    onSuccess: (value: unknown) => unknown,
    onError?: (err: unknown) => unknown,
    onFinally?: () => unknown,
  ): unknown;
  fakePromise(value?: unknown): unknown;
  fakeRejectPromise(error: unknown): unknown;
}

class Tagged extends Error {
  constructor(readonly tag: string) {
    super(tag);
  }
}

/** A rejected promise already marked handled, so the matrix itself leaves no unhandled rejection. */
function rejected(tag: string): Promise<never> {
  const promise = Promise.reject(new Tagged(tag));
  promise.catch(() => undefined);
  return promise;
}

function tagOf(err: unknown): string {
  return err instanceof Tagged ? err.tag : String(err);
}

function behaviours(helpers: MaybePromiseHelpers) {
  const inputs: Record<string, () => unknown> = {
    value: () => 'in',
    undefinedValue: () => undefined,
    zero: () => 0,
    promise: () => Promise.resolve('in-p'),
    rejecting: () => rejected('in-rej'),
    throws: () => {
      throw new Tagged('in-throw');
    },
    fakeResolved: () => helpers.fakePromise('in-fake'),
    fakeRejected: () => helpers.fakeRejectPromise(new Tagged('in-fake-rej')),
    thenable: () => ({ then: (resolve: (v: unknown) => void) => resolve('in-thenable') }),
  };
  const successes: Record<string, (v: unknown) => unknown> = {
    echo: (v) => `s(${String(v)})`,
    promise: (v) => Promise.resolve(`sp(${String(v)})`),
    throws: () => {
      throw new Tagged('s-throw');
    },
    rejecting: () => rejected('s-rej'),
    fake: (v) => helpers.fakePromise(`sf(${String(v)})`),
  };
  const errors: Record<string, ((e: unknown) => unknown) | undefined> = {
    none: undefined,
    recover: (e) => `e(${tagOf(e)})`,
    promise: (e) => Promise.resolve(`ep(${tagOf(e)})`),
    throws: () => {
      throw new Tagged('e-throw');
    },
  };
  const finals: Record<string, (() => unknown) | undefined> = {
    none: undefined,
    sync: () => undefined,
    throws: () => {
      throw new Tagged('f-throw');
    },
    promise: () => Promise.resolve(),
    rejecting: () => rejected('f-rej'),
  };
  return { inputs, successes, errors, finals };
}

async function outcome(run: (calls: string[]) => unknown): Promise<string> {
  const calls: string[] = [];
  let said: string;
  try {
    const answer = run(calls);
    if (answer !== null && typeof answer === 'object' && typeof (answer as { then?: unknown }).then === 'function') {
      const kind = answer instanceof Promise ? 'promise' : 'thenable';
      try {
        said = `${kind} resolves ${String(await (answer as PromiseLike<unknown>))}`;
      } catch (err) {
        said = `${kind} rejects ${tagOf(err)}`;
      }
    } else {
      said = `returns ${String(answer)}`;
    }
  } catch (err) {
    said = `throws ${tagOf(err)}`;
  }
  // Factories a settled chain still runs (an async finally) get their turn before the calls are read.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return `${said}; calls ${calls.join(',')}`;
}

/** "input success error finally" -> what happened, for every combination. */
export async function maybePromiseMatrix(helpers: MaybePromiseHelpers): Promise<Record<string, string>> {
  const { inputs, successes, errors, finals } = behaviours(helpers);
  const cases: Record<string, string> = {};
  for (const [inputName, input] of Object.entries(inputs)) {
    for (const [successName, success] of Object.entries(successes)) {
      for (const [errorName, error] of Object.entries(errors)) {
        for (const [finalName, final] of Object.entries(finals)) {
          cases[`${inputName} ${successName} ${errorName} ${finalName}`] = await outcome((calls) =>
            helpers.handleMaybePromise(
              (...args: unknown[]) => {
                calls.push(`in/${args.length}`);
                return input();
              },
              (value) => {
                calls.push('s');
                return success(value);
              },
              error &&
                ((err) => {
                  calls.push('e');
                  return error(err);
                }),
              final &&
                (() => {
                  calls.push('f');
                  return final();
                }),
            ),
          );
        }
      }
    }
  }
  return cases;
}
