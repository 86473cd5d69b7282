// The one SSE framing every stream uses: a line break in data must not end the event early or let
// the data forge a field (an `event:` or `id:` line of its own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSE_HEADERS, sseComment, sseEvent } from '../../src/lib/sse.js';

test('an event frames id, event and data, and ends with a blank line', () => {
  assert.equal(sseEvent({ id: 7, event: 'log', data: '{"a":1}' }), 'id: 7\nevent: log\ndata: {"a":1}\n\n');
  assert.equal(sseEvent({ event: 'message', data: 'x' }), 'event: message\ndata: x\n\n');
  assert.equal(sseEvent({ data: '' }), 'data: \n\n');
});

test('line breaks in data become data lines, so data cannot forge a field or end the event', () => {
  const framed = sseEvent({ event: 'log', data: 'one\nevent: admin\r\nid: 99\rtwo' });
  assert.equal(framed, 'event: log\ndata: one\ndata: event: admin\ndata: id: 99\ndata: two\n\n');
  assert.equal(framed.indexOf('\n\n'), framed.length - 2, 'one blank line: the end');
});

test('a comment stays one line; the headers turn buffering off', () => {
  assert.equal(sseComment('ping\n\ndata: x'), ': ping data: x\n\n');
  assert.equal(SSE_HEADERS['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(SSE_HEADERS['x-accel-buffering'], 'no');
});
