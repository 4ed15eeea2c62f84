import { useLayoutEffect, useRef } from "react";

/**
 * A box that a drawing function fills at the box's own pixel width, and fills again when that width
 * changes (a window resized, a phone turned).
 */
export function Chart<T>({ id, data, draw }: { id?: string; data: T; draw: (el: HTMLElement, data: T, width: number) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    let width = Math.floor(el.clientWidth) || 600;
    draw(el, data, width);
    if (typeof ResizeObserver !== "function") return;
    const observer = new ResizeObserver((entries) => {
      const next = Math.floor(entries[0].contentRect.width);
      if (next > 0 && next !== width) {
        width = next;
        draw(el, data, width);
      }
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [data, draw]);
  return <div className="chart" id={id} ref={ref} />;
}
