// @whatwg-node/promise-helpers as patched by patches/@whatwg-node+promise-helpers+1.3.2.patch
// (applied by `npm ci` through the postinstall script). Yoga, envelop and @whatwg-node/server run
// every request's hooks through handleMaybePromise; the patch calls the factories directly when
// they answer synchronously and gives fake promises their methods on a shared prototype. Both
// builds must give, in each of the 900 cases of the matrix, exactly what the unpatched 1.3.2 gave:
// test/fixtures/promise-helpers-1.3.2-unpatched.json was recorded from it with the same matrix.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { maybePromiseMatrix, type MaybePromiseHelpers } from '../support/maybe-promise-matrix.js';

const require = createRequire(import.meta.url);
const unpatched = JSON.parse(readFileSync(new URL('../fixtures/promise-helpers-1.3.2-unpatched.json', import.meta.url), 'utf8')) as Record<string, string>;

describe('@whatwg-node/promise-helpers, patched', () => {
  let esmBuild: MaybePromiseHelpers;
  let cjsBuild: MaybePromiseHelpers;
  beforeAll(async () => {
    esmBuild = (await import('@whatwg-node/promise-helpers')) as unknown as MaybePromiseHelpers;
    cjsBuild = require('@whatwg-node/promise-helpers') as MaybePromiseHelpers;
  });

  test('the patch is for the version npm installed', () => {
    expect((require('@whatwg-node/promise-helpers/package.json') as { version: string }).version).toBe('1.3.2');
  });

  test.each(['esm', 'cjs'] as const)('the %s build is patched: a fake promise is one object whose methods it shares', (build) => {
    const helpers = build === 'esm' ? esmBuild : cjsBuild;
    for (const fake of [helpers.fakePromise('v'), helpers.fakeRejectPromise(new Error('e'))] as object[]) {
      expect(Object.hasOwn(fake, 'then')).toBe(false);
      expect(typeof (fake as { then: unknown }).then).toBe('function');
      expect(Object.prototype.toString.call(fake)).toBe('[object Promise]');
    }
    expect(Object.getPrototypeOf(helpers.fakePromise(1))).toBe(Object.getPrototypeOf(helpers.fakePromise(2)));
  });

  test.each(['esm', 'cjs'] as const)('the %s build answers every case of the matrix as 1.3.2 did unpatched', async (build) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const cases = await maybePromiseMatrix(build === 'esm' ? esmBuild : cjsBuild);
      expect(Object.keys(cases)).toHaveLength(900);
      expect(Object.keys(cases).sort()).toEqual(Object.keys(unpatched).sort());
      const differing = Object.entries(cases).filter(([name, said]) => unpatched[name] !== said);
      expect(differing.map(([name, said]) => `${name}: ${said}, unpatched: ${unpatched[name]}`)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
