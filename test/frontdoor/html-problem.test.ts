// The front door's HTML answer for browsers: who gets it, and that nothing in it is markup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, prefersHtml, problemPage } from '../../src/frontdoor/html-problem.js';

const accept = (value: string) => ['Host', 'x', 'Accept', value];

test('HTML only for a client that prefers it to JSON', () => {
  assert.equal(prefersHtml(accept('text/html,application/xhtml+xml,*/*;q=0.8')), true, 'a browser');
  assert.equal(prefersHtml(accept('*/*')), false, 'curl');
  assert.equal(prefersHtml(['Host', 'x']), false, 'no Accept');
  assert.equal(prefersHtml(accept('application/json')), false);
  assert.equal(prefersHtml(accept('application/json, text/html;q=0.5')), false);
  assert.equal(prefersHtml(accept('text/html;q=0.9, application/problem+json;q=0.9')), false, 'a tie');
  assert.equal(prefersHtml(accept('text/html;q=0')), false, 'q=0 is "not acceptable"');
  assert.equal(prefersHtml(accept('TEXT/HTML')), true, 'media types are case-insensitive');
});

test('every markup character of the detail and request id is escaped', () => {
  assert.equal(
    escapeHtml(`<a href="x" onclick='y'>&</a>`),
    '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  const page = problemPage(503, 'Service Unavailable', '<script>alert(1)</script>', '"><img src=x>');
  assert.doesNotMatch(page, /<script|<img/);
  assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(page, /<code>&quot;&gt;&lt;img src=x&gt;<\/code>/);
});
