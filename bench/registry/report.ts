import type { Row } from './scenarios.js';

/** Goals from issue 2: at least distribution's figure on every row, blob GET ≥ 70% of nginx, RSS < 200 MiB. */
export const GOALS = { vsDistribution: 1.0, vsNginx: 0.7, rssMiB: 200 };

function fmt(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function latency(row: Row, target: 'berth' | 'distribution'): string {
  const l = row.latency?.[target];
  return l ? ` (p50 ${l.p50.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms)` : '';
}

/** Berth's figure relative to a peer, oriented so that > 1 always means Berth did better. */
export function ratio(row: Row, peer: 'distribution' | 'nginx'): number | undefined {
  const berth = row.values.berth;
  const other = row.values[peer];
  if (berth === undefined || other === undefined || berth === 0 || other === 0) return undefined;
  return row.higherIsBetter ? berth / other : other / berth;
}

export function goalMet(row: Row): boolean | undefined {
  if (row.unit === 'MiB' && !row.higherIsBetter)
    return row.values.berth === undefined ? undefined : row.values.berth < GOALS.rssMiB;
  const vsDist = ratio(row, 'distribution');
  const vsNginx = row.vsNginx ? ratio(row, 'nginx') : undefined;
  if (vsDist === undefined && vsNginx === undefined) return undefined;
  return (
    (vsDist === undefined || vsDist >= GOALS.vsDistribution) &&
    (vsNginx === undefined || vsNginx >= GOALS.vsNginx)
  );
}

/** A Markdown table: paste-able into docs/benchmarks/registry.md as printed. */
export function renderTable(rows: Row[]): string {
  const lines = [
    '| row | Berth | distribution 2.8 | Berth/distribution | nginx (sendfile) | Berth/nginx | goal met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const vsDist = ratio(row, 'distribution');
    const vsNginx = row.vsNginx ? ratio(row, 'nginx') : undefined;
    const goal = goalMet(row);
    lines.push(
      `| ${row.name} | ${fmt(row.values.berth, row.unit)}${latency(row, 'berth')} | ${fmt(row.values.distribution, row.unit)}${latency(row, 'distribution')} | ${vsDist === undefined ? 'n/a' : `${vsDist.toFixed(2)}×`} | ${row.vsNginx ? fmt(row.values.nginx, row.unit) : '–'} | ${vsNginx === undefined ? '–' : `${vsNginx.toFixed(2)}×`} | ${goal === undefined ? 'n/a' : goal ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The registries' own CPU per unit of work (lower is better): steadier than the rates on a shared
 * machine, and it shows where a row is bound by the server rather than by the client or the disk.
 */
export function renderCpuTable(rows: Row[]): string {
  const lines = ['| row | Berth CPU | distribution CPU | distribution/Berth |', '|---|---|---|---|'];
  for (const row of rows) {
    const berth = row.cpu?.berth;
    const dist = row.cpu?.distribution;
    if (berth === undefined && dist === undefined) continue;
    const unit = row.unit === 'MiB/s' ? 's/GiB' : 'ms/op';
    const cell = (v: number | undefined) =>
      v === undefined ? 'n/a' : `${v.toFixed(v >= 10 ? 1 : 3)} ${unit}`;
    const ratio = berth && dist ? `${(dist / berth).toFixed(2)}×` : 'n/a';
    lines.push(`| ${row.name} | ${cell(berth)} | ${cell(dist)} | ${ratio} |`);
  }
  return lines.join('\n');
}
