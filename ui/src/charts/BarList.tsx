import { formatNumber } from "../format";

export interface BarItem {
  name: string;
  value: number;
  label: string;
  extra?: string;
  title?: string | null;
  key?: string;
}

/**
 * Rows of "name · value" with a thin proportional bar under each. Bars are SVG stretched to the row
 * (preserveAspectRatio none), so they need no inline styles and no redraw on resize.
 */
export function BarList({ items, fill = "bar-fill", limit = 12 }: { items: BarItem[]; fill?: string; limit?: number }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return (
    <div>
      <ol className="barlist">
        {items.slice(0, limit).map((item) => {
          const pct = Math.max(0, Math.min(100, (item.value / max) * 100));
          const key = item.key ?? item.name;
          return (
            <li key={key} title={item.title || undefined} data-key={key}>
              <div className="barlist-head">
                <span className="barlist-name">{item.name}</span>
                <span className="barlist-num">
                  <b>{item.label}</b>
                  {item.extra ? ` · ${item.extra}` : null}
                </span>
              </div>
              <svg className="barlist-bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                <rect className="bar-track" width={100} height={6} />
                <rect className={fill} width={pct.toFixed(3)} height={6} />
              </svg>
            </li>
          );
        })}
      </ol>
      {items.length > limit ? <p className="barlist-more">and {formatNumber(items.length - limit)} more</p> : null}
    </div>
  );
}
