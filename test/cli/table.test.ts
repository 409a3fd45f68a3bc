// The age column of check's table and of wait's progress line, at each unit's edge.
import { describe, expect, it } from 'vitest';
import { formatAge, printable, renderTable } from '../../src/cli/table.ts';

describe('formatAge', () => {
  it('counts seconds below a minute, minutes below an hour, hours below a day, then days', () => {
    const ages = [59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, 86_400_000, -5].map(formatAge);
    expect(ages).toEqual(['59s', '1m00s', '59m59s', '1h00m', '23h59m', '1d00h', '0s']);
  });
});

describe('printable', () => {
  it('drops the invisible controls that turn text around, so a name cannot show as another word nor reverse its row', () => {
    // Any user of a tenant names its servers, and auto-tracking names a watch after its server.
    const table = renderTable(['NAME', 'STATE'], [['\u202Edeliaf', 'SUCCEEDED'], ['\u2067db\u2069 web', 'FAILED']]);
    expect(table).toBe('NAME    STATE\ndeliaf  SUCCEEDED\ndb web  FAILED');
    expect(printable('中文 שלום')).toBe('中文 שלום');
  });
});
