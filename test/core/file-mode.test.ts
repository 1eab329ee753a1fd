import { expect } from 'chai';
import fc from 'fast-check';
import { fileModeSchema, formatMode } from '../../core/file-mode.js';
import { modesSchema } from '../../core/embargo/rules.js';

describe('core/file-mode', () => {
  it('reads octal strings, refuses bare numbers (YAML reads 0640 as decimal 640)', () => {
    expect(fileModeSchema.parse('0640')).to.equal(0o640);
    expect(fileModeSchema.parse('640')).to.equal(0o640);
    expect(fileModeSchema.parse('0o2770')).to.equal(0o2770);
    expect(fileModeSchema.parse(' 0644 '), 'blanks around it are ignored').to.equal(0o644);
    for (const bad of [640, 416, '0648', '64', 'rw-r-----', '', '010000']) {
      expect(fileModeSchema.safeParse(bad).success, JSON.stringify(bad)).to.equal(false);
    }
    expect(modesSchema.safeParse({ embargoed: 640 }).success, 'the embargo mode too').to.equal(false);
    expect(modesSchema.safeParse({ embargoed: '0644' }).success, 'world-readable embargo refused').to.equal(false);
    expect(modesSchema.safeParse({ public: '2644' }).success, 'no special bits on data files').to.equal(false);
  });

  it('any input ends in a mode of at most 0o7777 or a validation issue, and formatMode round-trips (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.integer({ min: 0, max: 0o7777 }).map(formatMode)), (input) => {
        const r = fileModeSchema.safeParse(input);
        if (r.success) {
          expect(r.data).to.be.within(0, 0o7777);
          expect(fileModeSchema.parse(formatMode(r.data))).to.equal(r.data);
        } else expect(r.error.issues.length).to.be.above(0);
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });
});
