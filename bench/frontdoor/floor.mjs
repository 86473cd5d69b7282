// The floor: the least a Node.js reverse proxy can do per request, for reference in the front door
// benchmark. Not product code and not safe: it finds the head's end, forwards it with two added
// headers, frames the answer by Content-Length only, and validates nothing. What the front door
// costs above this is Berth's own (parsing, validation, routing, balancing, timeouts); what this
// costs above nginx is Node's (event loop, streams, V8).
//   node floor.mjs <listen port> <instance port>...
import { connect, createServer } from 'node:net';

const [listen, ...upstreams] = process.argv.slice(2).map(Number);
const idle = new Map(upstreams.map((port) => [port, []]));
let next = 0;

function upstreamFor(port) {
  const pooled = idle.get(port).pop();
  if (pooled) return pooled;
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  socket.on('data', (chunk) => socket.onAnswer(chunk));
  socket.on('error', () => {});
  // An idle connection the instance closed (its keep-alive timeout) must not be used again: a request
  // written to it would never be answered, and wrk's connection would hang.
  socket.on('close', () => {
    const list = idle.get(port);
    const at = list.indexOf(socket);
    if (at !== -1) list.splice(at, 1);
  });
  return socket;
}

createServer({ noDelay: true }, (client) => {
  client.on('error', () => {});
  let pending = null;
  client.on('data', (chunk) => {
    pending = pending ? Buffer.concat([pending, chunk]) : chunk;
    const end = pending.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = pending.toString('latin1', 0, end);
    pending = null;
    const port = upstreams[next++ % upstreams.length];
    const upstream = upstreamFor(port);
    let answer = null;
    let remaining = -1;
    upstream.onAnswer = (data) => {
      if (remaining === -1) {
        answer = answer ? Buffer.concat([answer, data]) : data;
        const headEnd = answer.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const responseHead = answer.toString('latin1', 0, headEnd);
        const body = answer.subarray(headEnd + 4);
        remaining = Number(/\r\ncontent-length: *(\d+)/i.exec(responseHead)?.[1] ?? 0) - body.length;
        client.write(
          Buffer.concat([Buffer.from(`${responseHead}\r\nx-request-id: floor\r\n\r\n`, 'latin1'), body]),
        );
      } else {
        remaining -= data.length;
        client.write(data);
      }
      if (remaining === 0) idle.get(port).push(upstream);
    };
    upstream.write(
      `${head}\r\nx-forwarded-for: ${client.remoteAddress}\r\nx-request-id: floor\r\n\r\n`,
      'latin1',
    );
  });
}).listen(listen, '127.0.0.1');
