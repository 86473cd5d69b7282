import type { CallToolResult } from '../types.js';
import type { UpstreamResponse } from './send.js';

/** How much of an error body goes into the result: enough to see the API's message. */
const ERROR_EXCERPT = 2000;

/**
 * Maps the upstream response to an MCP result: JSON → structuredContent plus a text copy; other text →
 * text; binary → image, audio or an embedded resource with its media type; status ≥ 400 → isError
 * with the status and an excerpt of the body.
 */
export function toResult(response: UpstreamResponse, url: string): CallToolResult {
  const contentType = header(response, 'content-type') ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const status = response.status;

  if (status >= 400) {
    const body =
      isTextual(mediaType) || mediaType === ''
        ? excerpt(response.body.toString('utf8'))
        : `<${response.body.length} bytes of ${mediaType}>`;
    return { isError: true, content: [{ type: 'text', text: `HTTP ${status}${body ? `: ${body}` : ''}` }] };
  }
  if (response.body.length === 0) {
    const location = status >= 300 && status < 400 ? header(response, 'location') : undefined;
    return {
      content: [
        { type: 'text', text: `HTTP ${status}${location ? ` redirect to ${location}` : ' (no content)'}` },
      ],
    };
  }
  if (isJson(mediaType)) {
    const text = response.body.toString('utf8');
    try {
      const value: unknown = JSON.parse(text);
      const structuredContent =
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : { result: value };
      return { content: [{ type: 'text', text }], structuredContent };
    } catch {
      return { content: [{ type: 'text', text }] };
    }
  }
  if (isTextual(mediaType) || mediaType === '')
    return { content: [{ type: 'text', text: response.body.toString('utf8') }] };
  const data = response.body.toString('base64');
  if (mediaType.startsWith('image/')) return { content: [{ type: 'image', data, mimeType: mediaType }] };
  if (mediaType.startsWith('audio/')) return { content: [{ type: 'audio', data, mimeType: mediaType }] };
  return { content: [{ type: 'resource', resource: { uri: url, mimeType: mediaType, blob: data } }] };
}

function header(response: UpstreamResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json');
}

function isTextual(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    isJson(mediaType) ||
    mediaType.endsWith('+xml') ||
    [
      'application/xml',
      'application/javascript',
      'application/x-www-form-urlencoded',
      'application/yaml',
      'application/x-yaml',
    ].includes(mediaType)
  );
}

function excerpt(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > ERROR_EXCERPT
    ? `${trimmed.slice(0, ERROR_EXCERPT)}… (${trimmed.length - ERROR_EXCERPT} more characters)`
    : trimmed;
}
