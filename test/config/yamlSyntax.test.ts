// src/config/yamlSyntax.ts on its own: what a file's reader is told of an error the library words.
import { parseDocument, YAMLParseError } from 'yaml';
import { describe, expect, it } from 'vitest';
import { syntaxProblem } from '../../src/config/yamlSyntax.ts';

describe('syntaxProblem', () => {
  it('quotes in part a screenful of the file that the library quotes whole', () => {
    const text = `cloud: ${'x'.repeat(300)}`;
    const error = new YAMLParseError([0, text.length], 'UNEXPECTED_TOKEN', `Unexpected scalar token in YAML stream: "${text}"`);
    expect(syntaxProblem(text, error, parseDocument(text), () => new Map(), 'the watch file')).toEqual({
      offset: 0,
      message: `Unexpected scalar token in YAML stream: "cloud: ${'x'.repeat(73)}… (307 characters)"`,
    });
  });
});
