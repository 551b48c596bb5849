import { describe, it, expect } from 'vitest';
import { quotePath } from '../../src/cli/format.js';

describe('paths in text output', () => {
  it('stay as they are unless a control character, quote or backslash would break the line; then C-quoted as git does', () => {
    expect(quotePath('/src/plain é.txt')).toBe('/src/plain é.txt');
    expect(quotePath('/nl\nname.txt')).toBe('"/nl\\nname.txt"');
    expect(quotePath('/tab\there')).toBe('"/tab\\there"');
    expect(quotePath('/q"t\\b')).toBe('"/q\\"t\\\\b"');
    expect(quotePath('/bell\x07')).toBe('"/bell\\007"');
    // one line whatever the name
    expect(quotePath('/a\nb\r\nc').includes('\n')).toBe(false);
  });
});
