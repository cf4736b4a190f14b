SELECT
  AVG(`t0`.`dep_delay`) AS `avg_dep_delay`
FROM `flights` AS `t0`
