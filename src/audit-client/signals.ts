// A child AbortController that follows a parent signal. Used instead of AbortSignal.any because a
// gateway passes one long-lived signal (the GraphQL request's) to many calls: here the listener is
// removed as soon as the call ends, so nothing accumulates on the parent.

export interface LinkedController {
  controller: AbortController;
  /** Stops following the parent (call when the work is over). */
  unlink(): void;
}

export function linkedController(parent: AbortSignal | undefined): LinkedController {
  const controller = new AbortController();
  if (!parent) return { controller, unlink: () => undefined };
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, unlink: () => undefined };
  }
  const onAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', onAbort) };
}
