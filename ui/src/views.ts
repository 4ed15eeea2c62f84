// What a view of the standalone page is: a component taking the props below, with its tab label and
// title. The page's list of views is src/page/views.tsx; a new view (redactions, insights, fleet) is one
// more entry there.

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
