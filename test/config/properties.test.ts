import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerProperties } from '../../src/config/properties.js';
import { ConfigError } from '../../src/config/config-error.js';

describe('parseServerProperties', () => {
  it('reads key=value, key: value and key value, skipping comments and blank lines', () => {
    const text = [
      '# Licensed to the Apache Software Foundation',
      '! also a comment',
      '',
      '   ',
      'node.id=1',
      'log.dirs : /var/lib/brook',
      'num.partitions 3',
      '  listeners   =   PLAINTEXT://:9092',
      'empty.value=',
      '\t# indented comment',
    ].join('\n');
    assert.deepEqual(parseServerProperties(text), {
      'node.id': '1',
      'log.dirs': '/var/lib/brook',
      'num.partitions': '3',
      listeners: 'PLAINTEXT://:9092',
      'empty.value': '',
    });
  });

  it('joins continuation lines and drops the next line’s leading blanks', () => {
    const text = 'listeners=PLAINTEXT://a:1,\\\n    PLAINTEXT2://b:2\r\nlog.dirs=/one,\\\r\n  /two\nx=1\\';
    assert.deepEqual(parseServerProperties(text), {
      listeners: 'PLAINTEXT://a:1,PLAINTEXT2://b:2',
      'log.dirs': '/one,/two',
      x: '1',
    });
  });

  it('treats an even number of trailing backslashes as an escaped backslash, not a continuation', () => {
    assert.deepEqual(parseServerProperties('path=C:\\\\dir\\\\\nnext=2'), { path: 'C:\\dir\\', next: '2' });
  });

  it('does not continue a comment line', () => {
    assert.deepEqual(parseServerProperties('# comment \\\na=1'), { a: '1' });
  });

  it('handles escapes in keys and values', () => {
    const text = 'my\\=key\\:with\\ seps = tab\\there\\nnl \\u00e9\\u0041 \\#not-comment';
    assert.deepEqual(parseServerProperties(text), { 'my=key:with seps': 'tab\there\nnl éA #not-comment' });
  });

  it('keeps separators after the first one in the value and lets later duplicates win', () => {
    assert.deepEqual(parseServerProperties('a=b=c\nb:=d'), { a: 'b=c', b: '=d' });
    assert.deepEqual(parseServerProperties('k=1\nk=2'), { k: '2' });
  });

  it('rejects a malformed \\u escape with a ConfigError', () => {
    assert.throws(() => parseServerProperties('a=\\u12x4'), ConfigError);
  });
});
