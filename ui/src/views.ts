// The views the standalone page shows as tabs, in order. A new view (redactions, insights, fleet) is one
// more entry here: a component that takes the shared props below, and a tab label.

import type { ComponentType, HTMLAttributes } from "react";

export interface ViewProps {
  /** False while the view's tab is not shown: load nothing until it is. */
  active: boolean;
  /** Attributes that make the view's root element its tab panel. */
  rootProps: HTMLAttributes<HTMLElement>;
  /** Called once the view has drawn what it first shows. */
  onReady: () => void;
}

export interface ViewDefinition {
  /** The URL fragment that opens it (#id) and the suffix of its element ids (view-id, tab-id). */
  id: string;
  /** The tab's label. */
  label: string;
  /** The document title while it is shown. */
  title: string;
  component: ComponentType<ViewProps>;
}
