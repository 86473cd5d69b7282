import { randomBytes } from 'node:crypto';

/** One part of a multipart/form-data body (RFC 7578). */
export interface Part {
  name: string;
  body: Buffer | string;
  /** Omitted for plain text fields, as browsers do. */
  contentType?: string;
  /** Only files have one: a JSON or text part without a filename is a field, not an upload. */
  filename?: string;
}

/**
 * Serializes parts as multipart/form-data. Written out rather than through FormData because
 * FormData can only carry a media type on a Blob, and a Blob always gets a filename ("blob"): an
 * object field would arrive as an uploaded file instead of a JSON field.
 */
export function encodeMultipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----berth${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"`;
    if (part.filename !== undefined) head += `; filename="${quote(part.filename)}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType.replace(/[\r\n]/g, '')}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'));
    chunks.push(typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : part.body);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The escaping the HTML standard uses for names and filenames in Content-Disposition. */
function quote(text: string): string {
  return text.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}
