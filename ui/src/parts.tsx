// Small pieces the views share: icons, empty states, tables that stack on a phone.

import type { ReactNode } from "react";

const ICONS = { yes: "M5 10.5l3.2 3.2L15 7", no: "M6 6l8 8M14 6l-8 8", trim: "M5 10h10" } as const;

export function Icon({ kind }: { kind: keyof typeof ICONS }) {
  return (
    <svg viewBox="0 0 20 20" className={`icon icon-${kind}`} aria-hidden="true" focusable="false">
      <path d={ICONS[kind]} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** An empty panel that says what to do next. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children ? <span>{children}</span> : null}
    </div>
  );
}

export interface TableRow {
  key: string;
  className?: string;
  cells: ReactNode[];
}

/**
 * A table that becomes a stack of small cards on a phone (see .stack in the stylesheet): each value cell
 * carries its column name for that layout. Explicit ARIA roles keep it a table for screen readers
 * whatever CSS display the cells get.
 */
export function DataTable({ label, columns, rows }: { label: string; columns: string[]; rows: TableRow[] }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table className={`stack cols-${columns.length - 1}`} role="table" aria-label={label}>
        <thead role="rowgroup">
          <tr role="row">
            {columns.map((c) => (
              <th key={c} scope="col" role="columnheader">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {rows.map((row) => (
            <tr key={row.key} role="row" className={row.className}>
              {row.cells.map((cell, i) => (
                <td key={columns[i]} role={i === 0 ? "rowheader" : "cell"} data-label={columns[i]}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
