// The suite every notifier type runs, as alertmanager's notify/test does for its integrations: retried or
// given up by what the receiver answered, stopped by an abort, the same delivery id on every attempt, and
// no secret in any property of any error. It takes the types from the registry: a type added there without
// a receiver in ./conformance/<type>.ts fails here.
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERY_REASONS, DeliveryError, RETRIED } from '../../src/notify/DeliveryError.ts';
import { NOTIFIER_TYPES } from '../../src/notify/registry.ts';
import type { Notifier, NotifierType } from '../../src/notify/types.ts';
import { pino, type Logger } from 'pino';
import { Capture } from '../e2e/harness.ts';
import { attempt, everyProperty, failedResize, silentLogger } from './fixtures.ts';
import type { ConformanceReceiver, StartReceiver } from './conformance/receiver.ts';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function receiverFor(type: string): Promise<ConformanceReceiver> {
  const module = (await import(`./conformance/${type}.ts`).catch((err: unknown) => {
    throw new Error(`notifier type '${type}' has no receiver for the shared suite: write test/notify/conformance/${type}.ts (see receiver.ts)`, { cause: err });
  })) as { startReceiver: StartReceiver };
  const receiver = await module.startReceiver();
  running.push(receiver);
  return receiver;
}

/** The type's notifier for `entry`, built as the daemon builds it: through the type's own schema. */
function notifierFor(type: NotifierType, entry: Record<string, unknown>, logger: Logger = silentLogger): Notifier {
  const notifier = type.create('suite', type.schema.parse(entry), { logger });
  running.push(notifier);
  return notifier;
}

async function failureOf(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(() => expect.fail('expected the delivery to fail'), (e: unknown) => e);
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

describe.for(NOTIFIER_TYPES.map((type) => [type.schema.shape.type.value, type as unknown as NotifierType] as const))('notifier type %s', ([name, type]) => {
  it('puts a secret in each of its secret keys, so that the checks below can find one that leaks', async () => {
    const receiver = await receiverFor(name);
    const entry = JSON.stringify(receiver.config);
    expect(type.secretKeys.length).toBeGreaterThan(0);
    expect(receiver.secrets.length).toBeGreaterThanOrEqual(type.secretKeys.length);
    for (const secret of receiver.secrets) expect(entry).toContain(secret);
  });

  it('delivers, carrying the attempt\'s delivery id, and says what the receiver answered', async () => {
    const receiver = await receiverFor(name);
    const receipt = await notifierFor(type, receiver.config).send(failedResize(), attempt('suite-delivery-1'));
    expect(receipt.answer).not.toBe('');
    expect(receiver.ids).toHaveLength(1);
    expect(receiver.ids[0]).toContain('suite-delivery-1');
  });

  it('carries the same delivery id on every attempt, whatever came of the one before', async () => {
    const receiver = await receiverFor(name);
    const notifier = notifierFor(type, receiver.config);
    receiver.answer('later');
    await failureOf(notifier.send(failedResize(), attempt('suite-delivery-2', 1)));
    receiver.answer('accept');
    await notifier.send(failedResize(), attempt('suite-delivery-2', 2));
    expect(receiver.ids).toHaveLength(2);
    expect(new Set(receiver.ids).size).toBe(1);
  });

  it('is retried when the receiver puts it off, and when the receiver is down', async () => {
    const receiver = await receiverFor(name);
    receiver.answer('later');
    expect((await failureOf(notifierFor(type, receiver.config).send(failedResize(), attempt()))).retryable).toBe(true);
    expect((await failureOf(notifierFor(type, receiver.configWhenDown).send(failedResize(), attempt()))).retryable).toBe(true);
  });

  it('is given up when the receiver refuses it for good', async () => {
    const receiver = await receiverFor(name);
    receiver.answer('refuse');
    expect((await failureOf(notifierFor(type, receiver.config).send(failedResize(), attempt()))).retryable).toBe(false);
  });

  // The reason is the `reason` label of notifications_total: what an operator reads to tell a receiver down
  // from one that refuses, and it must go with the retry the outbox makes of the failure.
  it('names why each failure failed, from the closed set, as its retry goes: put off, refused, down, cut off', async () => {
    const receiver = await receiverFor(name);
    const failures: DeliveryError[] = [];
    for (const [mode, reason] of [['later', 'server'], ['refuse', 'refused']] as const) {
      receiver.answer(mode);
      failures.push(await failureOf(notifierFor(type, receiver.config).send(failedResize(), attempt())));
      expect(failures.at(-1)!.reason, mode).toBe(reason);
    }
    failures.push(await failureOf(notifierFor(type, receiver.configWhenDown).send(failedResize(), attempt())));
    expect(failures.at(-1)!.reason, 'down').toBe('connection');
    receiver.answer('silent');
    const controller = new AbortController();
    const cutOff = notifierFor(type, receiver.config).send(failedResize(), attempt(undefined, 1, controller.signal));
    setTimeout(() => controller.abort(), 50);
    failures.push(await failureOf(cutOff));
    for (const failure of failures) {
      expect(DELIVERY_REASONS).toContain(failure.reason);
      if (failure.reason !== 'other') expect(failure.retryable, failure.message).toBe(RETRIED[failure.reason]);
    }
  });

  it('names the delivery\'s watch on every line it logs about the attempt, as the outbox does', async () => {
    const receiver = await receiverFor(name);
    const logs = new Capture();
    const notifier = notifierFor(type, receiver.config, pino({ level: 'trace' }, logs));
    const about = { watch: 'suite-watch', requestId: 'req-suite', serverId: 'server-suite' };
    await notifier.send(failedResize(), { ...attempt('suite-delivery-4'), about });
    receiver.answer('later');
    await failureOf(notifier.send(failedResize(), { ...attempt('suite-delivery-4', 2), about }));
    const aboutIt = logs.lines().filter((line) => line['deliveryId'] === 'suite-delivery-4');
    expect(aboutIt.length).toBeGreaterThan(0);
    for (const line of aboutIt) expect(line).toMatchObject(about);
  });

  // The receiver's timeout is a minute: a send that ignored the signal would outlive the test.
  it('stops when its attempt is aborted, to be tried again', async () => {
    const receiver = await receiverFor(name);
    receiver.answer('silent');
    const controller = new AbortController();
    const sent = notifierFor(type, receiver.config).send(failedResize(), attempt('suite-delivery-3', 1, controller.signal));
    setTimeout(() => controller.abort(), 50);
    expect((await failureOf(sent)).retryable).toBe(true);
  });

  it('keeps every secret out of every property of every error and receipt, nested ones and causes included', async () => {
    const receiver = await receiverFor(name);
    const shown: string[] = [];
    for (const mode of ['later', 'refuse', 'quote'] as const) {
      receiver.answer(mode);
      shown.push(everyProperty(await failureOf(notifierFor(type, receiver.config).send(failedResize(), attempt()))));
    }
    shown.push(everyProperty(await failureOf(notifierFor(type, receiver.configWhenDown).send(failedResize(), attempt()))));
    // Cut off while it waits for the answer, as Alertmanager's suite checks: a client's error may name the request then.
    receiver.answer('silent');
    const controller = new AbortController();
    const cutOff = notifierFor(type, receiver.config).send(failedResize(), attempt(undefined, 1, controller.signal));
    setTimeout(() => controller.abort(), 50);
    shown.push(everyProperty(await failureOf(cutOff)));
    receiver.answer('accept');
    shown.push(everyProperty(await notifierFor(type, receiver.config).send(failedResize(), attempt())));
    expect(receiver.sent.length).toBeGreaterThan(0);
    for (const secret of [...receiver.secrets, ...receiver.sent]) {
      for (const text of shown) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(Buffer.from(secret).toString('base64'));
      }
    }
  });
});
