// A minimal MCP server speaking newline-delimited JSON on a unix socket,
// for the mcp-unix example transport's end-to-end test.
// usage: node unix_mcp_server.mjs SOCKET_PATH READY_FILE
// Answers initialize, tools/list and tools/call "echo" (one progress
// notification first); anything else gets -32601. Logs each method.
import net from 'node:net';
import fs from 'node:fs';

const [sock, ready] = process.argv.slice(2);
const reply = (c, m) => c.write(JSON.stringify(m) + '\n');
const server = net.createServer((c) => {
  let buf = '';
  c.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      console.log('method', msg.method);
      if (msg.id === undefined) continue;
      if (msg.method === 'initialize') {
        reply(c, { jsonrpc: '2.0', id: msg.id, result: {
          protocolVersion: msg.params?.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} }, serverInfo: { name: 'unix-mcp', version: '1.0.0' } } });
      } else if (msg.method === 'tools/list') {
        reply(c, { jsonrpc: '2.0', id: msg.id, result: { tools: [{ name: 'echo',
          inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }] } });
      } else if (msg.method === 'tools/call' && msg.params?.name === 'echo') {
        reply(c, { jsonrpc: '2.0', method: 'notifications/progress',
          params: { progressToken: 1, progress: 1, total: 1 } });
        reply(c, { jsonrpc: '2.0', id: msg.id, result: {
          content: [{ type: 'text', text: `unix echo: ${msg.params.arguments?.text ?? ''}` }] } });
      } else {
        reply(c, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'method not found' } });
      }
    }
  });
  c.on('error', () => {});
});
server.listen(sock, () => fs.writeFileSync(ready, 'ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
