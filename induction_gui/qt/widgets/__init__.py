"""Drawing pieces both panels and views use: the heatmap, plot styling, colour maps, labels.

A panel never imports a view and a view never imports a panel (an import-linter
contract keeps it so); what both need lives here.
"""
