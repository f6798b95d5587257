"""The node layer: arrays, groups and hierarchies on a store, over the engine.

:mod:`~zarrkit.nodes.creation` turns user arguments into metadata (for the API and for
groups alike), :mod:`~zarrkit.nodes.node` finds, reads and writes node documents,
:mod:`~zarrkit.nodes.arrays` and :mod:`~zarrkit.nodes.groups` are the node objects,
the ``consolidated*`` modules keep consolidated metadata current and serve groups from it,
and :mod:`~zarrkit.nodes.convert` and :mod:`~zarrkit.nodes.check` copy and check whole
hierarchies (for the API and the command line).
"""
