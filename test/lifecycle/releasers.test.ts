import { describe, expect, it } from 'vitest';
import { Releasers } from '../../src/lifecycle/releasers.ts';

describe('Releasers', () => {
  it('releases in reverse order, runs every release despite failures, and reports the first failure', async () => {
    const order: string[] = [];
    const releasers = new Releasers();
    releasers.add(async () => void order.push('state'));
    releasers.add(async () => {
      order.push('client');
      throw new Error('client failed');
    });
    releasers.add(async () => {
      order.push('engine');
      throw new Error('engine failed');
    });
    await expect(releasers.release()).rejects.toThrow('engine failed');
    expect(order).toEqual(['engine', 'client', 'state']);
    // Idempotent: the same outcome, nothing released twice.
    await expect(releasers.release()).rejects.toThrow('engine failed');
    expect(order).toHaveLength(3);
    expect(() => releasers.add(async () => undefined)).toThrow(/once released/);
  });
});
