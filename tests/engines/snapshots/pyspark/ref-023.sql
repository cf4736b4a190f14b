SELECT
  `t2`.`origin`,
  `t2`.`dest`,
  `t2`.`distance`
FROM (
  SELECT
    `t1`.`origin`,
    `t1`.`dest`,
    `t1`.`distance`,
    ROW_NUMBER() OVER (
      PARTITION BY `t1`.`origin`
      ORDER BY `t1`.`distance` DESC, `t1`.`dest` ASC NULLS LAST
    ) - 1 AS `rank`
  FROM (
    SELECT DISTINCT
      `t0`.`origin`,
      `t0`.`dest`,
      `t0`.`distance`
    FROM `flights` AS `t0`
  ) AS `t1`
) AS `t2`
WHERE
  `t2`.`rank` = 0
